// ela-plugin-sensors: Linux IIO, hwmon and 1-wire sensors over the plugin protocol on fd 3. The logic lives in
// ElaSensors (`SensorsPlugin`); config keys: see `SensorsConfig`.
import ElaPluginKit
import ElaSensors

await PluginMain.runAndExit(SensorsPlugin.definition())
