from configparser import ConfigParser
import setuptools, shlex

# nbdev 2 layout: everything is read from settings.ini
config = ConfigParser(delimiters=['='])
config.read('settings.ini', encoding='utf-8')
cfg = config['DEFAULT']

cfg_keys = 'version description keywords author author_email'.split()
expected = cfg_keys + "lib_name user branch license status min_python audience language".split()
for o in expected: assert o in cfg, "missing expected setting: {}".format(o)
setup_cfg = {o:cfg[o] for o in cfg_keys}

licenses = {'apache2': 'Apache-2.0'}
statuses = [ '1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta', '5 - Production/Stable', '6 - Mature', '7 - Inactive' ]
py_versions = '3.10 3.11 3.12 3.13'.split()

requirements = shlex.split(cfg.get('requirements', ''))
dev_requirements = shlex.split(cfg.get('dev_requirements', ''))
app_requirements = shlex.split(cfg.get('app_requirements', ''))   # nbdev 2 has no extras setting: `[app]` is read here
lic = licenses[cfg['license'].lower()]
min_python = cfg['min_python']
lib_path = cfg['lib_path']
console_scripts = shlex.split(cfg.get('console_scripts', ''))

setuptools.setup(
    name = cfg['lib_name'],
    license = lic,
    classifiers = [
        'Development Status :: ' + statuses[int(cfg['status'])],
        'Intended Audience :: ' + cfg['audience'].title(),
        'Natural Language :: ' + cfg['language'].title(),
    ] + ['Programming Language :: Python :: '+o for o in py_versions[py_versions.index(min_python):]],
    url = cfg['git_url'],
    packages = setuptools.find_packages(include=[lib_path, lib_path+'.*']),
    # The package sits at the top of the project: said outright, an editable install is a plain path entry (the project folder on
    # sys.path) rather than setuptools' import finder, which warns at every install (BuildBackendWarning) about same-named folders.
    package_dir = {'': '.'},
    include_package_data = False,   # package_data below ships lyricloop/data/*: with MANIFEST-driven inclusion setuptools warns that the data folder is not a package
    package_data = {lib_path: ['data/*']},
    install_requires = requirements,
    extras_require = {'dev': dev_requirements, 'app': app_requirements},
    python_requires = '>=' + cfg['min_python'],
    long_description = open('README.md', encoding='utf-8').read(),
    long_description_content_type = 'text/markdown',
    zip_safe = False,
    entry_points = {'console_scripts': console_scripts, 'nbdev': [f'{cfg.get("lib_path")}={cfg.get("lib_path")}._modidx:d']},
    **setup_cfg)
