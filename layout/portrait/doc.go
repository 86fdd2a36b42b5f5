// Package portrait finds the face and the pupils in a holder's photo,
// places the crop of the token portrait (ISO/IEC 19794-5: eyes level, on a
// fixed line, a fixed share of the frame apart, centred) and checks the
// photo against an ID-photo standard, each check giving pass, warn or
// fail with a named reason: exactly one face with its eyes found, the
// face big enough (eye distance in the photo's pixels), the head inside
// the photo, the eyes level (roll), sharpness (variance of the
// Laplacian), exposure (face brightness, clipped shadows and highlights)
// and a uniform background.
//
// Faces are found with github.com/esimov/pigo's face cascade on a grey
// copy of the photo whose short side is about 200 pixels: a coarse pass
// over the whole image, then a dense pass around each candidate that
// scores it. The pupils are then localised on a grey copy of the face's
// region with the pupil cascade pigo ships, evaluated here with a fixed
// seed so that a photo always gets the same verdict. The trained cascades
// are data files of the pigo module (cascade/facefinder, cascade/puploc):
// this repository does not carry them; the Debian package installs them
// and the configuration names their directory (Load).
//
// The package does pure computation on decoded, upright images (EXIF
// orientation applied by the caller); it imports nothing of the spool or
// the printers.
package portrait
