from cellserve.cli import main

main()
