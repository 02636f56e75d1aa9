import { describe, expect, it } from "vitest";
import { vivadoTcl, vivadoXdc } from "../../src/rtl/vivado.js";
import { denseFixture, u10 } from "../support/rtl-fixtures.js";

const { report } = denseFixture({ inputs: 4, units: 1, input: u10, top: "cicada_v1" });

describe("Vivado project files", () => {
  it("synthesise, place and route out of context for the target part and report timing and utilisation", () => {
    const tcl = vivadoTcl({ ...report, files: { ...report.files, xdc: "constraints.xdc" } });
    expect(tcl).toMatch(/^read_verilog \[list \\\n {2}\[file join \$here \{cicada_v1\.v\}\] \\\n\]$/m);
    expect(tcl).toContain("read_xdc -mode out_of_context [file join $here {constraints.xdc}]");
    expect(tcl).toContain(
      "synth_design -top cicada_v1 -part xc7vx690tffg1927-2 -mode out_of_context -flatten_hierarchy full",
    );
    const order = ["synth_design", "opt_design", "place_design", "route_design", "report_timing_summary"];
    const at = order.map((c) => tcl.indexOf(`\n${c}`));
    expect(at.every((p, i) => p > 0 && (i === 0 || p > at[i - 1]))).toBe(true);
    expect(tcl).toContain("-file [file join $reports timing_summary.rpt]");
    expect(tcl).toContain("report_utilization -file [file join $reports utilization.rpt]");
  });

  it("constrain the clock from clock_mhz and time the ports against it", () => {
    expect(vivadoXdc(report)).toContain("create_clock -period 6.250 -name clk [get_ports clk]");
    expect(vivadoXdc({ ...report, clock_mhz: 240 })).toContain("-period 4.167 ");
    expect(vivadoXdc(report)).toContain(
      "set_input_delay -clock clk 0.000 [get_ports {rst in_valid in_data*}]",
    );
    expect(vivadoXdc(report)).toContain(
      "set_output_delay -clock clk 0.000 [get_ports {out_valid out_data*}]",
    );
  });
});
