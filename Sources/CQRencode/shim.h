// libqrencode (LGPL-2.1-or-later), Debian libqrencode-dev. Only ElaQR imports this module.
#include <qrencode.h>
