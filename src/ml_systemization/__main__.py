"""python -m ml_systemization."""

from ml_systemization.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
