// libmosquitto (Debian 12: 2.0.x). Only ElaMosquitto imports this module.
#include <mosquitto.h>
#include <mqtt_protocol.h>
