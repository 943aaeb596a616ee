package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"nucleus/state"
)

// nucleusSource lists the containers of a nucleus state directory.
type nucleusSource struct{ dir string }

func (s *nucleusSource) name() string { return fmt.Sprintf("nucleus (%s)", s.dir) }

// list loads every <id>.json of the directory with state.Load, which
// refuses symlinks and foreign directories; files it refuses are skipped
// (the directory is the caller's, its errors are the files').
func (s *nucleusSource) list(ctx context.Context) ([]Container, error) {
	ents, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errAbsent
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name(), err)
	}
	var out []Container
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || state.ValidateID(id) != nil {
			continue
		}
		st, err := state.Load(s.dir, id)
		if err != nil {
			continue
		}
		aliases := []string{st.ID}
		if st.Name != "" && st.Name != st.ID {
			aliases = append(aliases, st.Name)
		}
		name := st.Name
		if name == "" {
			name = st.ID
		}
		out = append(out, Container{
			Engine: Nucleus, Name: name, ID: st.ID, PID: st.PID, Status: string(st.Status),
			aliases: aliases, stateFile: filepath.Join(s.dir, id+".json"),
		})
	}
	return out, nil
}
