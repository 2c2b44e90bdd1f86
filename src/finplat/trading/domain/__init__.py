"""The trading model: orders and their state machine, triggers, pre-trade risk. Pure Python."""
