# Used by scripts/bench.sh: one markdown table from the recorded runs.
#
# Input lines: PATH MODE METRIC ROUND own|dir VALUE ("own": a run of MODE;
# "dir": a direct run that is a baseline of MODE in that round).
# Variables: rows  = "PATH/MODE ..." in table order;
#            cols  = "METRIC|HEADER|rate-or-lat;..." in table order;
#            label = "path" to print the path column, "" to leave it out.
#
# A cell: median over all runs of that mode [min-max], then in parentheses
# the median over rounds of the per-round ratio against the direct runs
# around it [min-max]: rates mode/direct, latencies direct/mode, so higher
# is better and 1.00 is exactly as fast as no mesh.

function sort(a, n,   i, j, t) {
	for (i = 2; i <= n; i++) {
		t = a[i]
		for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--)
			a[j + 1] = a[j]
		a[j + 1] = t
	}
}

# Median of a space-separated list ("" if empty); sets LO and HI.
function med(list,   a, n) {
	n = split(list, a, " ")
	if (n == 0)
		return ""
	sort(a, n)
	LO = a[1]
	HI = a[n]
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

function num(v,   av) {
	v += 0
	av = v < 0 ? -v : v
	return sprintf(av >= 100 ? "%.0f" : av >= 10 ? "%.1f" : "%.2f", v)
}

{
	k = $1 SUBSEP $2 SUBSEP $3
	if ($5 == "own") {
		own[k] = own[k] " " $6
		osum[k, $4] += $6
		ocnt[k, $4]++
	} else {
		dsum[k, $4] += $6
		dcnt[k, $4]++
	}
	round[$4] = 1
}

function cell(path, mode, metric, kind,   k, f, s, ratios, r, m, d) {
	k = path SUBSEP mode SUBSEP metric
	f = med(own[k])
	if (f == "")
		return "-"
	s = num(f) " [" num(LO) "-" num(HI) "]"
	if (mode == "direct")
		return s " (1.00)"
	ratios = ""
	for (r in round) {
		if (!ocnt[k, r] || !dcnt[k, r])
			continue
		m = osum[k, r] / ocnt[k, r]
		d = dsum[k, r] / dcnt[k, r]
		if (m <= 0 || d <= 0)
			continue
		ratios = ratios " " (kind == "lat" ? d / m : m / d)
	}
	r = med(ratios)
	if (r == "")
		return s " (-)"
	return s sprintf(" (%.2f [%.2f-%.2f])", r, LO, HI)
}

END {
	nr = split(rows, row, " ")
	nc = split(cols, col, ";")
	head = label != "" ? "| " label " | mode |" : "| mode |"
	sep = label != "" ? "|---|---|" : "|---|"
	for (c = 1; c <= nc; c++) {
		split(col[c], f, "|")
		head = head " " f[2] " |"
		sep = sep "---|"
	}
	print head
	print sep
	for (i = 1; i <= nr; i++) {
		path = row[i]
		sub(/\/.*/, "", path)
		mode = row[i]
		sub(/^[^\/]*\//, "", mode)
		line = label != "" ? "| " path " | " mode " |" : "| " mode " |"
		for (c = 1; c <= nc; c++) {
			split(col[c], f, "|")
			line = line " " cell(path, mode, f[1], f[3]) " |"
		}
		print line
	}
}
