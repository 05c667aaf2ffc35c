"""``python -m vistance.cli ...`` (also what ``accelerate launch -m vistance.cli`` runs)."""
import sys

from vistance.cli import main

sys.exit(main())
