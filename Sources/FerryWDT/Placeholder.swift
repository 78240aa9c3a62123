// FerryWDT
