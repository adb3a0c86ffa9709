package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// clockTick is USER_HZ, the unit of the CPU times in /proc/<pid>/stat. It is
// 100 on every Linux architecture Go supports.
const clockTick = 100

// procStat is what wsbench reads from /proc/<pid>/stat.
type procStat struct {
	ppid int
	// cpu is utime+stime+cutime+cstime in ticks: the process's own CPU time
	// plus that of the children it has reaped.
	cpu int64
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	// The command name may hold spaces and parentheses: fields start after
	// the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); ppid is field 4, utime..cstime fields 14..17.
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(f))
	}
	var st procStat
	st.ppid, _ = strconv.Atoi(string(f[1]))
	for _, k := range []int{11, 12, 13, 14} {
		v, err := strconv.ParseInt(string(f[k]), 10, 64)
		if err != nil {
			return procStat{}, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
		}
		st.cpu += v
	}
	return st, nil
}

// tree returns pid and all its descendants.
func tree(root int) []int {
	entries, _ := filepath.Glob("/proc/[0-9]*")
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(filepath.Base(e))
		if err != nil {
			continue
		}
		st, err := readStat(pid)
		if err != nil {
			continue
		}
		children[st.ppid] = append(children[st.ppid], pid)
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// treeCPU is the CPU time of root and its descendants. A descendant that has
// been reaped is counted in its parent's cutime/cstime, a live one by its
// own times, so nothing is counted twice.
func treeCPU(root int) time.Duration {
	var ticks int64
	for _, pid := range tree(root) {
		if st, err := readStat(pid); err == nil {
			ticks += st.cpu
		}
	}
	return time.Duration(ticks) * time.Second / clockTick
}

// treePSS is the proportional set size of root and its descendants in
// bytes, from /proc/<pid>/smaps_rollup.
func treePSS(root int) int64 {
	var total int64
	for _, pid := range tree(root) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if err != nil {
			continue
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			if rest, ok := bytes.CutPrefix(line, []byte("Pss:")); ok {
				f := bytes.Fields(rest)
				if len(f) > 0 {
					kb, _ := strconv.ParseInt(string(f[0]), 10, 64)
					total += kb << 10
				}
				break
			}
		}
	}
	return total
}
