// libtoxcore (GPL-3.0-or-later). Only ElaTox imports this module, and only ela-carrier links ElaTox.
#include <tox/tox.h>
