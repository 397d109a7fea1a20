"""Analyses: each turns runs of an engine into a labelled table (time course; dose-response and sweeps follow)."""
