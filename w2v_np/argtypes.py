"""Argument types shared by the ``w2v-np`` subcommands: numbers parsed with one-line errors."""
import argparse


def int_at_least(minimum, description):
    """An argparse type: an integer ``>= minimum``, described as ``description`` in errors."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {description}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {description}, got {value}")
        return value
    return parse


def number(text):
    """An argparse type: a float (range checks are the plan's)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
