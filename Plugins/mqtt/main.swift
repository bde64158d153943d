// ela-plugin-mqtt: the MQTT bridge over the plugin protocol on fd 3. The logic lives in ElaMQTTBridge
// (`MQTTPlugin`, `MQTTBridge`).
import ElaMQTTBridge
import ElaPluginKit

await PluginMain.runAndExit(MQTTPlugin.definition())
