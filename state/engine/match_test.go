package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func ct(engine Engine, name, id string) Container {
	return Container{Engine: engine, Name: name, ID: id, aliases: []string{id, name}}
}

// An exact name or ID wins over a prefix; a prefix must be unique; the
// errors list the candidates.
func TestMatch(t *testing.T) {
	all := []Container{
		ct(Docker, "web", "abc123"),
		ct(Docker, "db", "abd456"),
		ct(Podman, "abc", "ffe789"), // a name that is also a prefix of web's id
	}
	for q, want := range map[string]string{"web": "abc123", "abc123": "abc123", "abc1": "abc123", "abc": "ffe789", "ffe": "ffe789", "db": "abd456"} {
		c, err := match(q, all)
		if err != nil || c.ID != want {
			t.Errorf("match(%q) = %s, %v; want %s", q, c.ID, err, want)
		}
	}
	_, err := match("ab", all)
	var amb *AmbiguousError
	if !errors.As(err, &amb) || len(amb.Candidates) != 2 || !strings.Contains(err.Error(), "docker web (id abc123)") || !strings.Contains(err.Error(), "docker db (id abd456)") {
		t.Errorf("match(ab) = %v; want both docker containers listed", err)
	}
	_, err = match("zz", all)
	var nf *NotFoundError
	if !errors.As(err, &nf) {
		t.Errorf("match(zz) = %v; want a NotFoundError", err)
	}
	// The same name in two engines is ambiguous too.
	_, err = match("web", append(all, ct(Podman, "web", "999")))
	if !errors.As(err, &amb) || len(amb.Candidates) != 2 {
		t.Errorf("match(web) across engines = %v; want ambiguous", err)
	}
}

// A container several engines see is merged: the first engine names it,
// the others add aliases and roots.
func TestMerge(t *testing.T) {
	a := ct(Docker, "web", "abc")
	b := ct(Containerd, "moby/abc", "abc")
	b.PID = 42
	b.addRoot("runc", "/run/docker/runtime-runc/moby")
	a.merge(b)
	if a.Engine != Docker || a.Name != "web" || a.PID != 42 || a.RuntimeRoot != "/run/docker/runtime-runc/moby" || len(a.aliases) != 3 {
		t.Errorf("merged = %+v", a)
	}
}

// Ids that would leave the runtime root or read as flags are refused
// before any runtime runs.
func TestRuntimeStateRefusesBadIDs(t *testing.T) {
	for _, id := range []string{"", "../x", "a/b", "--help", "-x", ".."} {
		_, err := runtimeState(context.Background(), RuntimeRoot{Runtime: "runc", Dir: "/run/runc"}, id)
		if err == nil || !strings.Contains(err.Error(), "refusing container id") {
			t.Errorf("runtimeState(%q) = %v; want a refusal", id, err)
		}
	}
}

// An unprivileged caller naming root's engines is refused at once.
func TestRefuseForUnprivileged(t *testing.T) {
	old := euid
	euid = func() int { return 1000 }
	defer func() { euid = old }()
	for _, o := range []Option{WithDockerHost("unix:///var/run/docker.sock"), WithContainerdSocket("/run/containerd/containerd.sock"), WithCRISocket("/run/crio/crio.sock")} {
		if _, err := newConfig([]Option{o}); err == nil || !strings.Contains(err.Error(), "refused for uid 1000") {
			t.Errorf("newConfig = %v; want a refusal", err)
		}
	}
	c, err := newConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range c.sources {
		switch s.(type) {
		case *dockerSource, *containerdSource, *criSource:
			t.Errorf("unprivileged default config searches %s", s.name())
		}
	}
}
