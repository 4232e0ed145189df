"""Reinforcement-learning algorithms (each one file, readable top to bottom)."""
