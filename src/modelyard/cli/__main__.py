"""`python -m modelyard.cli`: the `yard` command without its console script."""

from modelyard.cli import main

main()
