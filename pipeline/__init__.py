"""Composition of the newswatch pipeline: command line, runner choice, wiring of stages."""
