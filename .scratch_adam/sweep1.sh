P=/work/main/.venv/bin/python
$P exp2.py "out='sigmoid',lo=0.1,hi=0.9" 
$P exp2.py "out='sigmoid',lo=0.1,hi=0.9,lr=3e-2"
$P exp2.py "out='softmax',loss='bce',lo=0.1,hi=0.9"
$P exp2.py "out='softmax',loss='bce',lo=0.1,hi=0.9,lr=3e-2"
