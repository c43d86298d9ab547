"""Package layout for s2s-ad (the metadata lives in pyproject.toml).

The repository keeps the AST passes in a top-level `transforms/` folder, but they install as
`s2s.transforms`: a package-directory mapping, so nothing named `transforms` lands at the top of
site-packages (a package of that name exists on the package index). Editable installs use the same
mapping.
"""

from setuptools import find_packages, setup

packages = [p for p in find_packages(include=["s2s", "s2s.*"])]
packages += ["s2s.transforms"] + [f"s2s.transforms.{p}" for p in find_packages("transforms")]

setup(packages=packages, package_dir={"s2s.transforms": "transforms"})
