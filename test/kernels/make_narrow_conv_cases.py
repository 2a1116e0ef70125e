#!/usr/bin/env python3
"""Kernel cases for convolutions with few output positions per image
(engine/ops/conv_narrow.c: T (P, Mg) = col^T (P, K) @ W_g^T, the GEMM
turned round so that it runs along the output channels).

    make_narrow_conv_cases.py OUT_DIR

Branches covered: windows read in place (one channel, 1-D, no pads, a
strided STFT-like front end) and gathered through the window map (pads,
dilations, several channels, 2-D and 3-D); weights packed at load because
the static shape gives P (static), packed at load because they are small
while P is unknown (dynamic dims), and read unpacked (graph-input
weights, and a 3-D Conv that the pack hook leaves alone); images batched
into one GEMM, in several chunks of images (N x P over 64 rows), and one
by one (in place); groups; the bias and fused activations; P = 1, 2, 4,
7, 8, 9, 16 and 17 (just above the path: the other kernels), and P = 49,
64 and 65 with 255, 256 and 257 output channels per group (the wide
limit); output channels 16, 33, 64, 130, 258 (tails of the 32-column
panels).  Shapes that fall
outside (fewer than 16 channels per group, weights too large to pack per
run) are cases too.  Every case runs at the portable, AVX2 and AVX-512
levels.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_conv_cases import act, conv_case  # noqa: E402


def main(out):
    # strided STFT front end over one channel: windows in place
    for dyn in (False, True):
        for P, M in ((1, 16), (4, 258), (8, 33), (9, 40)):
            k, s = 64, 16
            conv_case(out, "stft_p%d_m%d_%s" % (P, M, "dyn" if dyn else "static"), (1, 1, (P - 1) * s + k + 3),
                 (M, 1, k), dict(kernel_shape=[k], strides=[s]), bias=False, dynamic=dyn)
    # windows ending exactly at the signal's end; two images (in place: one by one)
    conv_case(out, "stft_exact_n2", (2, 1, 3 * 32 + 48), (20, 1, 48), dict(strides=[32]))
    # one channel with pads or dilation: gathered
    conv_case(out, "one_ch_pad", (1, 1, 40), (24, 1, 16), dict(strides=[8], pads=[5, 3]))
    conv_case(out, "one_ch_dil", (1, 1, 40), (24, 1, 5), dict(strides=[9], dilations=[3]))
    # the audio trunk: k = 3, pad 1, strides 1 and 2, P = 4, 2, 1
    for C, L, M, s in ((129, 4, 128, 1), (128, 4, 64, 2), (64, 2, 64, 2), (64, 1, 128, 1),
                       (17, 7, 130, 1), (31, 8, 16, 1), (33, 9, 64, 1)):
        for dyn in (False, True):
            conv_case(out, "trunk_c%d_l%d_m%d_s%d_%s" % (C, L, M, s, "dyn" if dyn else "static"),
                 (1, C, L), (M, C, 3), dict(pads=[1, 1], strides=[s]), dynamic=dyn)
    # fewer than 16 output channels: the other kernels
    conv_case(out, "few_channels_m15", (1, 32, 4), (15, 32, 3), dict(pads=[1, 1]))
    # batches: one GEMM over the images, and several chunks of 64 rows
    conv_case(out, "batch3_p4", (3, 24, 4), (40, 24, 3), dict(pads=[1, 1]))
    conv_case(out, "batch70_p1", (70, 20, 1), (48, 20, 1), dynamic=True)
    conv_case(out, "batch20_p7", (20, 12, 7), (36, 12, 3), dict(pads=[1, 1]))
    # graph-input weights: W_g^T packed per run
    conv_case(out, "runtime_w_p2", (2, 40, 4), (72, 40, 3), dict(strides=[2], pads=[1, 1]), const_w=False)
    # graph-input weights too large to pack per run (Mg * K > 2^18): the im2col path
    conv_case(out, "runtime_w_large", (1, 1100, 1), (256, 1100, 1), const_w=False, rtol=2e-4, atol=1e-4)
    # groups
    conv_case(out, "group2_p4", (2, 32, 4), (64, 16, 3), dict(group=2, pads=[1, 1]))
    conv_case(out, "group4_p1_dyn", (1, 64, 1), (128, 16, 1), dict(group=4), dynamic=True)
    # 2-D: a 1x1 map (squeeze-excite), a 2x2 map with a 3x3 window, a 3x3 map (P = 9)
    conv_case(out, "se_1x1_relu", (2, 96, 1, 1), (24, 96, 1, 1), post=act("Relu"))
    conv_case(out, "se_1x1_sigmoid", (1, 24, 1, 1), (96, 24, 1, 1), post=act("Sigmoid"))
    conv_case(out, "map2x2_k3", (1, 20, 2, 2), (70, 20, 3, 3), dict(pads=[1, 1, 1, 1]))
    conv_case(out, "map4x4_s2_dyn", (1, 8, 4, 4), (33, 8, 3, 3), dict(strides=[2, 2], pads=[1, 1, 1, 1]),
         dynamic=True)
    conv_case(out, "map3x3_p9", (1, 20, 3, 3), (70, 20, 3, 3), dict(pads=[1, 1, 1, 1]))
    conv_case(out, "same_upper", (1, 16, 3, 3), (48, 16, 3, 3), dict(auto_pad="SAME_UPPER", strides=[2, 2]))
    conv_case(out, "valid_2d", (1, 16, 4, 5), (48, 16, 3, 4), dict(auto_pad="VALID"))
    # the limits of the path: P = 16 and 17 (4x4 and a 1-D 17), P = 49 and 64 with 256
    # output channels per group (taken) and 255 (the other kernels), P = 65
    conv_case(out, "map4x4_p16", (1, 24, 4, 4), (40, 24, 3, 3), dict(pads=[1, 1, 1, 1]))
    conv_case(out, "map4x4_p16_batch5_dyn", (5, 24, 4, 4), (40, 24, 3, 3), dict(pads=[1, 1, 1, 1]), dynamic=True)
    conv_case(out, "p17_1d", (1, 16, 17), (33, 16, 3), dict(pads=[1, 1]))
    conv_case(out, "map7x7_m256", (1, 40, 7, 7), (256, 40, 3, 3), dict(pads=[1, 1, 1, 1]), post=act("Relu"))
    conv_case(out, "map7x7_m255", (1, 40, 7, 7), (255, 40, 3, 3), dict(pads=[1, 1, 1, 1]))
    conv_case(out, "map7x7_1x1_m257_batch2", (2, 64, 7, 7), (257, 64, 1, 1))
    conv_case(out, "map8x8_m256_group2", (1, 32, 8, 8), (512, 16, 3, 3), dict(group=2, pads=[1, 1, 1, 1]))
    conv_case(out, "p65_m256", (1, 16, 65), (256, 16, 3), dict(pads=[1, 1]))
    # the AVX-512 gather of the windows (blocks of 16 channels, taps vectors each): channel
    # counts that fill whole blocks (16, 128) and leave a tail (48 + 1, 3), taps that are and
    # are not a multiple of 16, stride 2 with pads on one side, a dilated window
    conv_case(out, "gather_c128_s2_resnet", (1, 128, 8, 8), (256, 128, 3, 3),
              dict(strides=[2, 2], pads=[1, 1, 1, 1]), rtol=2e-4, atol=1e-4)
    conv_case(out, "gather_c16_k4x4", (1, 16, 4, 4), (32, 16, 4, 4), dict(pads=[1, 2, 2, 1]))
    conv_case(out, "gather_c49_k7x7_s2", (2, 49, 5, 6), (40, 49, 7, 7), dict(strides=[2, 2], pads=[3, 3, 3, 3]),
              rtol=2e-4, atol=1e-4)
    conv_case(out, "gather_c3_dil2", (1, 3, 6, 6), (16, 3, 3, 3), dict(dilations=[2, 2], pads=[1, 0, 2, 1]))
    # 3-D: not packed at load, the window map over three dims
    conv_case(out, "conv3d_p2", (1, 6, 3, 3, 4), (40, 6, 2, 3, 3), dict(strides=[1, 1, 2], pads=[0, 0, 0, 0, 0, 1]))


if __name__ == "__main__":
    main(sys.argv[1])
