"""A Modbus slave for tests: Debian's pymodbus 3.0 (a peer nobody here wrote).

Run with /usr/bin/python3 (FACTS.md: Debian's pymodbus imports only there):
  modbus_slave.py --port P --framer socket|rtu --units '{"1": {"holding": [721, 35], "input": [150]}}'
Each unit gets holding and input registers from address 0 (zero_mode: protocol address 0
is the first value; pymodbus would otherwise add 1). A read past a unit's registers
answers exception 0x02 (illegal data address); an unknown unit, 0x0B.
framer rtu = Modbus RTU frames (unit, PDU, CRC) over the TCP socket, as a transparent DTU
passes them; socket = Modbus TCP (MBAP).
Control, one JSON object per line on stdin, each answered "OK" on stdout:
  {"cmd": "set", "unit": 1, "table": "holding", "address": 0, "values": [950]}
  {"cmd": "stop"}    stop listening and drop every connection (a dead slave)
  {"cmd": "start"}   listen again on the same port
"""
import argparse
import asyncio
import json
import logging
import sys

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.framer.rtu_framer import ModbusRtuFramer
from pymodbus.framer.socket_framer import ModbusSocketFramer
from pymodbus.server.async_io import ModbusTcpServer

logging.basicConfig(level=logging.CRITICAL)


def build_context(units):
    slaves = {}
    for unit, tables in units.items():
        holding = tables.get("holding", [0])
        inputs = tables.get("input", [0])
        slaves[int(unit)] = ModbusSlaveContext(
            hr=ModbusSequentialDataBlock(0, list(holding)),
            ir=ModbusSequentialDataBlock(0, list(inputs)),
            di=ModbusSequentialDataBlock(0, [0]),
            co=ModbusSequentialDataBlock(0, [0]),
            zero_mode=True,
        )
    return ModbusServerContext(slaves=slaves, single=False)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--framer", choices=["socket", "rtu"], default="socket")
    parser.add_argument("--units", required=True)
    args = parser.parse_args()
    context = build_context(json.loads(args.units))
    framer = ModbusRtuFramer if args.framer == "rtu" else ModbusSocketFramer
    state = {"server": None, "task": None}

    async def start():
        server = ModbusTcpServer(context, framer=framer, address=("127.0.0.1", args.port), allow_reuse_address=True)
        state["server"] = server
        state["task"] = asyncio.create_task(server.serve_forever())
        await server.serving

    async def stop():
        server = state["server"]
        if server is None:
            return
        for handler in list(server.active_connections.values()):
            handler.transport.close()
        await server.server_close()
        state["task"].cancel()
        state["server"] = None

    await start()
    print(f"READY {args.port}", flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            break
        msg = json.loads(line)
        if msg["cmd"] == "set":
            fc = 3 if msg["table"] == "holding" else 4
            context[int(msg["unit"])].setValues(fc, int(msg["address"]), list(msg["values"]))
        elif msg["cmd"] == "stop":
            await stop()
        elif msg["cmd"] == "start":
            await start()
        print("OK", flush=True)
    await stop()


asyncio.run(main())
