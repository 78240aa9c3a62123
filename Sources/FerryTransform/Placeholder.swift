// FerryTransform
