// Gauss-Hermite quadrature for expectations over a standard normal: E[h(e)] ~ sum_k w_k h(x_k).
// 32 nodes, exact for polynomials of degree up to 63; the rows of a GLM are smooth functions of
// their linear predictor, for which the error is far below double rounding at moderate variances.
// The nodes are symmetric (+-x_k with equal weights); only the positive half is stored.
// Generated with numpy.polynomial.hermite_e.hermegauss(32), weights divided by sqrt(2 pi).
#pragma once

#include "config.cuh"

namespace ngvi::math {

constexpr int kGaussHermiteHalf = 16;

NGVI_HD double gauss_hermite_node(int k) {
  constexpr double kNodes[kGaussHermiteHalf] = {
    0.27554641923027584,
    0.82728490377976516,
    1.3809801992721442,
    1.9380049059257174,
    2.4998404151873954,
    3.0681351690131216,
    3.644781249880833,
    4.2320211099954097,
    4.8326046132444889,
    5.4500332736234283,
    6.0889643090769869,
    6.7559308305407049,
    7.4607557541215188,
    8.2197287653822446,
    9.0643992107024047,
    10.077422674229465};
  return kNodes[k];
}

NGVI_HD double gauss_hermite_weight(int k) {
  constexpr double kWeights[kGaussHermiteHalf] = {
    0.21170556988047928,
    0.1565389937575985,
    0.085344808272080741,
    0.034109847726092067,
    0.0099034617023205929,
    0.0020620510513078808,
    0.00030255702581706285,
    3.0559803060896336e-05,
    2.0596221039534275e-06,
    8.8812907131058903e-08,
    2.3125184120742393e-09,
    3.3475012398011962e-11,
    2.3780648557778086e-13,
    6.7552902236702037e-16,
    5.2084495919609133e-19,
    4.1246074890182835e-23};
  return kWeights[k];
}

}  // namespace ngvi::math
