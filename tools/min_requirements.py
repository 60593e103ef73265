"""Print the declared minimum versions of settings.ini's `requirements`, one pip requirement per line.

Every `name>=X` (with or without an upper bound) becomes `name==X`; requirements without a floor are printed as they
are. torch is left out: the CPU build is installed first, separately (an unpinned or old torch from PyPI is a CUDA build).
Used by `make test-min` to install the floors into a second virtualenv and run the fast tests on them.
"""
import configparser, re, sys
from pathlib import Path

def min_requirements(settings=Path(__file__).resolve().parents[1]/'settings.ini', skip=('torch',)) -> list[str]:
    cfg = configparser.ConfigParser()
    cfg.read(settings)
    out = []
    for req in cfg['DEFAULT']['requirements'].split():
        name = re.match(r'[A-Za-z0-9_.\-\[\]]+', req).group(0)
        if name in skip: continue
        floor = re.search(r'>=\s*([^,\s]+)', req)
        out.append(f'{name}=={floor.group(1)}' if floor else req)
    return out

if __name__ == '__main__': print('\n'.join(min_requirements(*sys.argv[1:2])))
