"""Run and trial states (DESIGN's 'Runs and trials').

A run is RUNNING until its trials end; then FINISHED (at least one trial finished), FAILED (every
trial failed, or the driver itself failed) or KILLED (stopped, or interrupted in the notebook).
EARLY_STOPPED and LOST are reserved for lagom (early stopping) and for runs whose driver vanished.
"""

from __future__ import annotations

RUNNING = "RUNNING"
FINISHED = "FINISHED"
FAILED = "FAILED"
KILLED = "KILLED"
EARLY_STOPPED = "EARLY_STOPPED"
LOST = "LOST"

STATES = (RUNNING, FINISHED, FAILED, KILLED, EARLY_STOPPED, LOST)
ENDED = (FINISHED, FAILED, KILLED, EARLY_STOPPED, LOST)
