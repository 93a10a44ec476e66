"""``python -m gdstudio`` runs the command-line front end."""

import sys

from gdstudio.cli import main

if __name__ == "__main__":
    sys.exit(main())
