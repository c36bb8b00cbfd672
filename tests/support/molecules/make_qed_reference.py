#!/usr/bin/python3
"""Generates qed_reference.tsv: Python RDKit 2022.09.3 QED / SA score / Crippen logP reference values.

Inputs: the first 500 SMILES of qm9/SMILES and the first 500 rows of zinc12k_bgnn/train.tsv.
Usage: /usr/bin/python3 make_qed_reference.py /work/shared/data > qed_reference.tsv
Columns: smiles qed sa logp mw psa hba hbd rotb arom alerts (floats written with repr()).
Every value is computed on a freshly parsed molecule (FindMolChiralCenters in sascorer mutates it).
"""
import sys
from rdkit import Chem, RDLogger
from rdkit.Chem import QED, Crippen

sys.path.append('/usr/share/RDKit/Contrib/SA_Score')
import sascorer  # noqa: E402

RDLogger.DisableLog('rdApp.*')
data = sys.argv[1] if len(sys.argv) > 1 else '/work/shared/data'

smiles = []
with open(data + '/qm9/SMILES') as f:
    f.readline()
    for _ in range(500):
        smiles.append(f.readline().split()[0])
with open(data + '/zinc12k_bgnn/train.tsv') as f:
    f.readline()
    for _ in range(500):
        smiles.append(f.readline().split('\t')[0])

print('smiles\tqed\tsa\tlogp\tmw\tpsa\thba\thbd\trotb\tarom\talerts')
for s in smiles:
    p = QED.properties(Chem.MolFromSmiles(s))
    q = QED.qed(Chem.MolFromSmiles(s))
    sa = sascorer.calculateScore(Chem.MolFromSmiles(s))
    logp = Crippen.MolLogP(Chem.MolFromSmiles(s))
    print('\t'.join([s, repr(q), repr(sa), repr(logp), repr(p.MW), repr(p.PSA),
                     str(p.HBA), str(p.HBD), str(p.ROTB), str(p.AROM), str(p.ALERTS)]))
