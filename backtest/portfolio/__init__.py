"""Event-driven strategies: trades, simulation (vectorbt), metrics."""
