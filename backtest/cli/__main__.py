"""``python -m backtest.cli``: the same as the ``evbt`` command."""

from backtest.cli import main

main()
