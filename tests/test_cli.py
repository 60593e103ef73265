"The `lyricloop` console script, run as a user would."
from conftest import run, tool

def test_version_and_help():
    r = run([tool('python'), '-c', 'import lyricloop; print(lyricloop.__version__)'], check=True)
    assert r.stdout.strip()
    r = run([tool('lyricloop'), '--help'], check=True)
    assert 'commands:' in r.stdout and 'info' in r.stdout

def test_unknown_command_is_one_line_and_status_2():
    r = run([tool('lyricloop'), 'trian'])
    assert r.returncode == 2 and 'Traceback' not in r.stderr and len(r.stderr.strip().splitlines()) == 1

def test_info_reports_hardware():
    r = run([tool('lyricloop'), 'info'], check=True)
    assert 'hardware: cpu' in r.stdout or 'hardware: cuda' in r.stdout or 'hardware: mps' in r.stdout
