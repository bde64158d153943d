// ela: the package's one program (busybox style). /usr/sbin/ela-agent, /usr/bin/elactl and the built-in plugins'
// programs are links to it, and the name it is started under picks the tool. The Swift runtime, SwiftNIO and the
// crypto code then ship once instead of once per program (the installed package is a third of the size). The
// development build keeps one executable per tool; both run the same code. ela-carrier stays separate: it is the
// only program linking libtoxcore (GPL).
#if canImport(Glibc)
import Glibc
#endif
import ElaCLI
import ElaDaemon
import ElaGPIO
import ElaMQTTBridge
import ElaPluginKit
import ElaSensors

let invokedAs = (CommandLine.arguments.first ?? "ela").split(separator: "/").last.map(String.init) ?? "ela"
switch invokedAs {
case "ela-agent": await AgentCommand.runMain()
case "elactl": Elactl.runMain()
case "ela-plugin-gpio": await PluginMain.runAndExit(GPIOPlugin.definition())
case "ela-plugin-sensors": await PluginMain.runAndExit(SensorsPlugin.definition())
case "ela-plugin-mqtt": await PluginMain.runAndExit(MQTTPlugin.definition())
default:
    let usage = """
        ela: started as '\(invokedAs)'; this program runs as one of these names (make a link to it):
          ela-agent, elactl, ela-plugin-gpio, ela-plugin-sensors, ela-plugin-mqtt

        """
    _ = usage.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
    exit(64)
}
