"""Hazard reports and micro-wishes (隐患上报 · 微心愿), tracked to resolution, and the public echo wall (回音壁)."""
