// libgpiod 1.6 (Debian 12's libgpiod-dev; the v1 API, not 2.x) for Swift. Only ElaGPIOD imports this module.
#ifndef CGPIOD_SHIM_H
#define CGPIOD_SHIM_H

#include <gpiod.h>
#include <time.h>

// The request flags are built with GPIOD_BIT(); spelled as plain ints so Swift sees one type.
static inline int cgpiod_flag_bias_disable(void) { return GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE; }
static inline int cgpiod_flag_bias_pull_down(void) { return GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN; }
static inline int cgpiod_flag_bias_pull_up(void) { return GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP; }
static inline int cgpiod_flag_active_low(void) { return GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW; }
static inline int cgpiod_flag_open_drain(void) { return GPIOD_LINE_REQUEST_FLAG_OPEN_DRAIN; }
static inline int cgpiod_flag_open_source(void) { return GPIOD_LINE_REQUEST_FLAG_OPEN_SOURCE; }

#endif
