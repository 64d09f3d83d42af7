# gnuplot script for docs/benchmarks.png; bench/run.sh passes dat= and out=.
# Data columns: label, throughput med/min/max (Mmsg/s), round trip p50 med/min/max (ns);
# -1 = not measured in that scenario. Horizontal bars, one row per mechanism
# (row 0 at the top), so that every label is readable.
stats dat using 0 nooutput
n = STATS_records
set terminal pngcairo size 1500, (160 + 22 * n) font "sans,10" noenhanced
set output out
set multiplot layout 1,2 title "libzeroipc vs peers: 8-byte messages between processes (bar: median; whiskers: min-max over rounds)"
set style fill solid 0.6 border -1
set logscale x
set grid xtics
set key off
set yrange [n - 0.5 : -0.5]
set ytics scale 0
set lmargin 52
set rmargin 2
h = 0.35
set title "One-way throughput, 1 producer / 1 consumer\n(million messages/s, log scale; longer is better)"
set xrange [0.1 : 1000]
plot dat using ($2 > 0 ? sqrt(0.1 * $2) : 1/0):0:(0.1):($2 > 0 ? $2 : 1/0):($0 - h):($0 + h):ytic(1) \
         with boxxyerror lc rgb "#3070b0", \
     dat using ($2 > 0 ? $2 : 1/0):0:3:4 with xerrorbars pt -1 lc rgb "black"
set title "Round-trip latency p50\n(ns, log scale; shorter is better)"
set lmargin 2
set format y ""
set xrange [100 : 300000]
set format x "%g"
plot dat using ($5 > 0 ? $5 : 1/0):0:(100):($5 > 0 ? $5 : 1/0):($0 - h):($0 + h) \
         with boxxyerror lc rgb "#b05030", \
     dat using ($5 > 0 ? $5 : 1/0):0:6:7 with xerrorbars pt -1 lc rgb "black"
unset multiplot
