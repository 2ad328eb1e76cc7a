#ifndef PAHLAWAN_CSODIUM_SHIM_H
#define PAHLAWAN_CSODIUM_SHIM_H
#include <sodium.h>
#endif
