// Package cgroup confines websockify's wrapped program, and every process
// it starts, to a cgroup (v2) of their own, so that they can all be killed
// even after websockify itself was killed with SIGKILL: the next
// websockify on the same address kills what is left in the group before
// it starts the program again, and a clean exit kills it too.
package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Group is a cgroup the calling process moved into, with everything it
// starts afterwards.
type Group struct {
	dir    string // the group
	parent string // the cgroup the process came from
}

// Dir is the group's directory.
func (g *Group) Dir() string { return g.dir }

// Enter creates the cgroup name under the calling
// process's own cgroup (or reuses it), kills the processes an earlier
// instance left in it, and moves the calling process into it: every
// process started afterwards is in the group. killed is how many
// leftover processes were killed. An error means no group (cgroup v2 not
// mounted, not permitted): the caller goes on without one.
func Enter(name string) (g *Group, killed int, err error) {
	own, err := ownCgroupDir()
	if err != nil {
		return nil, 0, err
	}
	dir := filepath.Join(own, name)
	removeEmptySiblings(own, name)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, 0, fmt.Errorf("cgroup: create %s: %w", dir, err)
	}
	if killed, err = killAll(dir); err != nil {
		return nil, killed, err
	}
	if err := movePID(own, dir, os.Getpid()); err != nil {
		os.Remove(dir)
		return nil, killed, err
	}
	return &Group{dir: dir, parent: own}, killed, nil
}

// Leave moves the calling process back to its own cgroup, kills every
// process still in the group and removes it.
func (g *Group) Leave() error {
	if g == nil {
		return nil
	}
	if err := movePID(g.dir, g.parent, os.Getpid()); err != nil {
		return err
	}
	if _, err := killAll(g.dir); err != nil {
		return err
	}
	var err error
	for range 50 { // the killed processes leave the group as they die
		if err = os.Remove(g.dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("cgroup: remove %s: %w", g.dir, err)
}

// removeEmptySiblings removes the empty groups of earlier instances on
// other addresses (same prefix as name, up to its last '-'): each was left
// by a websockify killed with SIGKILL whose program left nothing behind. A
// live instance's group holds at least that instance, and rmdir of a
// populated cgroup fails anyway.
func removeEmptySiblings(own, name string) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return
	}
	prefix := name[:strings.LastIndexByte(name[:i], '-')+1]
	if prefix == "" {
		return
	}
	ents, err := os.ReadDir(own)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), prefix) || e.Name() == name {
			continue
		}
		d := filepath.Join(own, e.Name())
		if pids, err := procs(d); err == nil && len(pids) == 0 {
			os.Remove(d)
		}
	}
}

// killAll kills every process in dir (cgroup.kill, or SIGKILL to each
// process on kernels before 5.14) and waits briefly until they are gone.
// It returns how many there were.
func killAll(dir string) (int, error) {
	pids, err := procs(dir)
	if err != nil || len(pids) == 0 {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0); err != nil {
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	for range 100 {
		left, err := procs(dir)
		if err != nil || len(left) == 0 {
			break
		}
		for _, pid := range left { // forked meanwhile (no cgroup.kill)
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return len(pids), nil
}

// procs lists the processes in the cgroup dir.
func procs(dir string) ([]int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

func movePID(from, to string, pid int) error {
	if err := os.WriteFile(filepath.Join(to, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
		return fmt.Errorf("cgroup: move process %d from %s to %s: %w", pid, from, to, err)
	}
	return nil
}

// ownCgroupDir is the directory of the calling process's cgroup v2.
func ownCgroupDir() (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", fmt.Errorf("cgroup: %w", err)
	}
	var path string
	for _, line := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			path = p
		}
	}
	if path == "" {
		return "", errors.New("cgroup: no cgroup v2 membership in /proc/self/cgroup")
	}
	mount, root, err := cgroup2Mount()
	if err != nil {
		return "", err
	}
	rel, ok := strings.CutPrefix(path, root)
	if !ok {
		return "", fmt.Errorf("cgroup: own cgroup %s is outside the mounted hierarchy %s", path, root)
	}
	return filepath.Join(mount, rel), nil
}

// cgroup2Mount finds the cgroup2 mount point and the cgroup it shows as
// its root, from /proc/self/mountinfo.
func cgroup2Mount() (mount, root string, err error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", "", fmt.Errorf("cgroup: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options ... - fstype source superoptions
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok || !strings.HasPrefix(post, "cgroup2 ") {
			continue
		}
		fields := strings.Fields(pre)
		if len(fields) < 5 {
			continue
		}
		return fields[4], fields[3], nil
	}
	return "", "", errors.New("cgroup: cgroup v2 is not mounted")
}
