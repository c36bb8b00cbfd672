#pragma once
/// @file no_grad.hpp
/// `NoGradGuard` (defined in tape.hpp): while alive, ops record nothing on this thread.
#include "mgvae/autodiff/tape.hpp"
