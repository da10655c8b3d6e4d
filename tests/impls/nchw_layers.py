"""Layers in another framework's conventions: NCHW data, (out, in, kh, kw)
filters, keyword-only geometry, and a dict from the backward. Not the
article's API: ``nchw_adapted`` plugs it into the suite."""

import refcnn


def conv_forward(x, w, b, padding=0, strides=1):
    z = refcnn.convolution2d(x.transpose(0, 2, 3, 1), w.transpose(0, 2, 3, 1), b, padding, strides)
    return z.transpose(0, 3, 1, 2)


def conv_backward(dout, x, w, b, padding=0, strides=1, calc_du_flag=True):
    du, dW, db = refcnn.convolution2d_back(
        dout.transpose(0, 2, 3, 1),
        x.transpose(0, 2, 3, 1),
        w.transpose(0, 2, 3, 1),
        b,
        padding,
        strides,
        calc_du_flag,
    )
    return {
        "dx": None if du is None else du.transpose(0, 3, 1, 2),
        "dw": dW.transpose(0, 3, 1, 2),
        "db": db,
    }


def maxpool(x, size=2, stride=None, pad=0):
    return refcnn.max_pooling2d(x.transpose(0, 2, 3, 1), size, pad, stride).transpose(0, 3, 1, 2)
