"""Root conftest: one BLAS/OpenMP thread per test process.

Tests and nbval kernels run two at a time on two cores (pytest -n 2); more threads than cores
makes OpenMP spin and can slow torch down tens of times. Kernels inherit this environment.
"""

import os

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")
