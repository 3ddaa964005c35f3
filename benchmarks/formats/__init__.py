"""Readers of public benchmark instance formats: Curtois & Qu employee scheduling (``curtois``)
and TU Wien minimum shift design (``shift_design``)."""
