# compare.gp - the picture of `attnbench compare BASE NEW --plot FILE`: one line per row found in
# both runs (first on top), the time ratio NEW/BASE on a log scale with its ± (the reach of the
# two rows' median notches, the same ± the verdict uses), coloured by verdict, over a grey band
# of ±noise around 1.
#
#   gnuplot -e "datafile='D'; outfile='O'; nrows=N; noise=0.02; svg=0" plots/compare.gp
#
# datafile: tab-separated, one line per row pair: index, label, ratio, low, high, verdict
# (0 same, 1 faster, 2 slower, 3 ambiguous). attnbench compare writes it and calls this.
if (!exists("datafile") || !exists("outfile") || !exists("nrows")) {
    print "usage: gnuplot -e \"datafile='D'; outfile='O'; nrows=N; noise=0.02; svg=0\" compare.gp"
    exit status 2
}
if (!exists("noise")) noise = 0.02
if (!exists("svg")) svg = 0

height = 170 + 20 * nrows
if (svg) {
    set terminal svg size 1400, height dynamic enhanced font "sans,11" background rgb "white"
} else {
    set terminal pngcairo size 1400, height enhanced font "sans,10" background rgb "white"
}
set output outfile
set datafile separator "\t"

set title sprintf("time NEW / BASE per row (below 1: faster); bars: the rows' spread; grey: ±%g %%", noise * 100)
set xlabel "time ratio NEW / BASE (log scale)"
set logscale x 2
set format x "%g"
set grid xtics lc rgb "#d0d0d0"
set yrange [nrows - 0.5 : -0.5]
set ytics scale 0 font ",9" noenhanced
set key outside bottom center horizontal
set object 1 rectangle from 1 / (1 + noise), graph 0 to 1 + noise, graph 1 \
    fillcolor rgb "#e8e8e8" fillstyle solid noborder behind
set arrow 1 from 1, graph 0 to 1, graph 1 nohead dashtype 2 linecolor rgb "#404040"

plot datafile using (1):1:ytic(2) with dots linecolor rgb "#e8e8e8" notitle, \
     '' using ($6 == 0 ? $3 : 1/0):1:4:5 with xerrorbars pointtype 7 linecolor rgb "#404040" title "same", \
     '' using ($6 == 1 ? $3 : 1/0):1:4:5 with xerrorbars pointtype 7 linecolor rgb "#1a9641" title "faster", \
     '' using ($6 == 2 ? $3 : 1/0):1:4:5 with xerrorbars pointtype 7 linecolor rgb "#d7191c" title "slower", \
     '' using ($6 == 3 ? $3 : 1/0):1:4:5 with xerrorbars pointtype 6 linecolor rgb "#e08a00" title "ambiguous"
