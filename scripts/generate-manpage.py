#!/usr/bin/env python3
"""Writes a man page (roff, man(7) macros) for a swift-argument-parser program from its own
`--experimental-dump-help` JSON, so the page always matches the CLI: every subcommand (nested), its
arguments, options and flags with their help text.

usage: generate-manpage.py --section N [--date YYYY-MM-DD] [--version V] PROGRAM > page.N
"""
import argparse
import json
import subprocess
import sys

SEE_ALSO = {"elactl": [("ela-agent", 8)], "ela-agent": [("elactl", 1)]}


def roff(text):
    """Escapes text for roff: backslashes, leading dots and apostrophes, and hyphens in option names."""
    text = (text or "").replace("\\", "\\e")
    lines = []
    for line in text.split("\n"):
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def option_name(name):
    prefix = "-" if name["kind"] == "short" else "--"
    return prefix + name["name"]


def synopsis_of(arg):
    if arg["kind"] == "positional":
        text = "<" + arg.get("valueName", "value") + ">"
    else:
        text = option_name(arg["preferredName"])
        if arg["kind"] == "option":
            text += " <" + arg.get("valueName", "value") + ">"
    if arg.get("isRepeating"):
        text += " ..."
    return "[" + text + "]" if arg.get("isOptional") else text


def visible(items):
    return [i for i in items or [] if i.get("shouldDisplay", True)]


def own_arguments(command):
    """A subcommand's arguments without the --help and --version every command has (listed once, at the top)."""
    return [a for a in visible(command.get("arguments")) if a.get("preferredName", {}).get("name") not in ("help", "version")]


def write_arguments(out, args):
    for arg in visible(args):
        if arg["kind"] == "positional":
            label = "\\fI<" + roff(arg.get("valueName", "value")) + ">\\fR"
        else:
            names = ", ".join("\\fB" + roff(option_name(n)).replace("-", "\\-") + "\\fR" for n in arg.get("names", []))
            label = names + (" \\fI<" + roff(arg.get("valueName", "value")) + ">\\fR" if arg["kind"] == "option" else "")
        out.append(".TP")
        out.append(label)
        help_text = arg.get("abstract", "")
        if arg.get("defaultValue") not in (None, ""):
            help_text += " (default: " + str(arg["defaultValue"]) + ")"
        out.append(roff(help_text) or "\\&")
        if arg.get("discussion"):
            out.append(".IP")
            out.append(roff(arg["discussion"] if isinstance(arg["discussion"], str) else ""))


def write_command(out, command, path, level):
    name = " ".join(path)
    subcommands = [c for c in visible(command.get("subcommands")) if c["commandName"] != "help"]
    if level > 0:
        out.append(".SS " + roff(name).replace("-", "\\-"))
        if command.get("abstract"):
            out.append(roff(command["abstract"]))
            out.append(".PP")
    usage = [synopsis_of(a) for a in own_arguments(command)]
    if subcommands and level > 0:
        usage = ["<subcommand>"] + usage
    if level > 0 or not subcommands:
        out.append(".nf")
        out.append("\\fB" + roff(name).replace("-", "\\-") + "\\fR " + roff(" ".join(usage)).replace("-", "\\-"))
        out.append(".fi")
    if command.get("discussion"):
        out.append(".PP")
        out.append(roff(command["discussion"]))
    if level > 0 or not subcommands:
        write_arguments(out, own_arguments(command))
    for sub in subcommands:
        write_command(out, sub, path + [sub["commandName"]], level + 1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--section", required=True)
    parser.add_argument("--date", default="")
    parser.add_argument("--version", default="")
    parser.add_argument("program")
    options = parser.parse_args()

    dump = subprocess.run([options.program, "--experimental-dump-help"], check=True, capture_output=True, text=True)
    command = json.loads(dump.stdout)["command"]
    name = command["commandName"]
    out = [
        '.TH "%s" "%s" "%s" "ela-agent %s" "Elastos Device Agent"' % (name.upper(), options.section, options.date, options.version),
        ".SH NAME",
        roff(name).replace("-", "\\-") + " \\- " + roff(command.get("abstract", "")),
        ".SH SYNOPSIS",
    ]
    subcommands = [c for c in visible(command.get("subcommands")) if c["commandName"] != "help"]
    out.append(".nf")
    if subcommands:
        out.append("\\fB" + roff(name).replace("-", "\\-") + "\\fR <subcommand> [options]")
    else:
        out.append("\\fB" + roff(name).replace("-", "\\-") + "\\fR " + roff(" ".join(synopsis_of(a) for a in visible(command.get("arguments")))).replace("-", "\\-"))
    out.append(".fi")
    out.append(".SH DESCRIPTION")
    out.append(roff(command.get("discussion") or command.get("abstract", "")))
    if subcommands:
        out.append(".SH COMMANDS")
        write_command(out, command, [name], 0)
        out.append(".SH OPTIONS")
        write_arguments(out, command.get("arguments"))
    else:
        out.append(".SH OPTIONS")
        write_arguments(out, command.get("arguments"))
    out.append(".SH FILES")
    out.append(".TP\n\\fI/etc/ela-agent/agent.toml\\fR\nThe agent's configuration.")
    out.append(".TP\n\\fI/run/ela-agent/control.sock\\fR\nThe control socket elactl talks to.")
    out.append(".TP\n\\fI/var/lib/ela-agent\\fR\nThe device identity (encrypted keystore), grants, the audit log and plugin state.")
    refs = SEE_ALSO.get(name, [])
    if refs:
        out.append(".SH SEE ALSO")
        out.append(", ".join("\\fB%s\\fR(%d)" % (roff(n).replace("-", "\\-"), s) for n, s in refs))
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
