# gnuplot script for docs/benchmarks.png; bench/run.sh passes dat= and out=.
# Data columns: label, throughput med/min/max (Mmsg/s), round trip p50 med/min/max (ns);
# -1 = not measured in that scenario.
set terminal pngcairo size 1400,1000 font "sans,10" noenhanced
set output out
set multiplot layout 2,1 title "libzeroipc vs peers: 8-byte messages between processes (median, bars: min-max over rounds)"
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.6 border -1
set boxwidth 0.8
set logscale y
set grid ytics
set xtics rotate by -30 nomirror
set key off
set bmargin 9
set title "One-way throughput, 1 producer / 1 consumer (million messages/s, log scale; higher is better)"
plot dat using ($2 > 0 ? $2 : 1/0):3:4:xtic(1) lc rgb "#3070b0"
set title "Round-trip latency p50 (ns, log scale; lower is better)"
plot dat using ($5 > 0 ? $5 : 1/0):6:7:xtic(1) lc rgb "#b05030"
unset multiplot
