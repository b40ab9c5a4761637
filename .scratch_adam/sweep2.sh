P=/work/main/.venv/bin/python
$P exp2.py "lr=1e-1,epss=[1e-8,1e-2]"
$P exp2.py "arch='cnn'"
$P exp2.py "arch='cnn',lr=3e-2"
