"""``python -m nlpcli`` (also the entry point for ``torchrun -m nlpcli``)."""

from nlpcli.cli import main

if __name__ == "__main__":
    main()
