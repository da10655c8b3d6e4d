"""Hostile: a module with none of the article's functions."""


def conv_forward(x, w):
    return x


helper = 3
