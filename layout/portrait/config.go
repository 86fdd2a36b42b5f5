package portrait

import "github.com/cardd/cardd/config"

// FromConfig returns the thresholds a station's [portrait] section sets.
func FromConfig(p config.Portrait) Thresholds {
	return Thresholds{
		EyeDistanceWarn: p.Warn.EyeDistance, EyeDistanceFail: p.Fail.EyeDistance,
		RollWarn: p.Warn.Roll, RollFail: p.Fail.Roll,
		SharpnessWarn: p.Warn.Sharpness, SharpnessFail: p.Fail.Sharpness,
		ClippedWarn: p.Warn.Clipped, ClippedFail: p.Fail.Clipped,
		DarkWarn: p.Warn.Dark, DarkFail: p.Fail.Dark,
		BrightWarn: p.Warn.Bright, BrightFail: p.Fail.Bright,
		BackgroundWarn: p.Warn.Background, BackgroundFail: p.Fail.Background,
	}
}
