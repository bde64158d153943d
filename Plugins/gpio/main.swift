// ela-plugin-gpio: GPIO lines by board pin name (libgpiod 1.6, or a simulated chip), spoken to over fd 3.
import ElaGPIO
import ElaPluginKit

await PluginMain.runAndExit(GPIOPlugin.definition())
