package atoms

import (
	"strings"
	"testing"
)

// Configurations that make no sense are refused, naming the problem.
func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{Arch: "mace"}, "architecture"},
		{Config{Arch: ArchTransformer, Dim: 30, Heads: 4}, "heads"},
		{Config{Arch: ArchSchNet, DirectForces: true}, "direct force head"},
		{Config{Arch: ArchSchNet, RBF: 1}, "Gaussians"},
		{Config{Arch: ArchTransformer, DirectForces: true, AuxForceWeight: 1}, "auxiliary force head"},
		{Config{Arch: ArchSchNet, AuxForceWeight: 1}, "auxiliary force head"},
		{Config{Arch: ArchTransformer, EnergyWeight: -1}, "weights"},
	} {
		err := tc.c.Defaults().Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one about %q", tc.c, err, tc.want)
		}
	}
	for _, arch := range []string{ArchTransformer, ArchSchNet} {
		if err := DefaultRun(arch).Model.Validate(); err != nil {
			t.Errorf("default %s: %v", arch, err)
		}
	}
}
